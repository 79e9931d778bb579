from lpdeploy.cli import main

main()
