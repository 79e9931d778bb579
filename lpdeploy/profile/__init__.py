"""Crisis profiles: the YAML an engineer writes about a crisis, validated."""

from lpdeploy.profile.hardware import BUILTIN_HARDWARE, HardwareModel
from lpdeploy.profile.load import LoadedProfile, load_profile
from lpdeploy.profile.model import Centre, Profile

__all__ = [
    "BUILTIN_HARDWARE",
    "Centre",
    "HardwareModel",
    "LoadedProfile",
    "Profile",
    "load_profile",
]
