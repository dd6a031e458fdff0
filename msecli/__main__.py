from msecli.cli import main

main()
