from clouder.cli import main

main()
