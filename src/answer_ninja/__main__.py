from answer_ninja.cli import main

main()
