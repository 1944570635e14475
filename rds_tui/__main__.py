from rds_tui.cli import main

raise SystemExit(main())
