from rds_tui.main import main

raise SystemExit(main())
