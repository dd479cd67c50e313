from netlab.cli.main import main

main()
