from lpdeploy.entry import main

main()
