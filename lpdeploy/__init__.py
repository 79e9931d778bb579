"""lpdeploy: plan, provision and verify offline learning centres."""

__version__ = "0.1.0"
