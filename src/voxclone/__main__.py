from voxclone.cli.main import main

main()
