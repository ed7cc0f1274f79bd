"""The command-line shells: one module per `gamlab COMMAND`, each with add_parser(subparsers)
and run(args). They map options onto the library (gamlab.experiments.runs, gamlab.experiments.compare, gamlab.experiments.bench,
...); no library module imports them, and gamlab/cli.py lists them."""
