"""Speech engines behind one interface (``base.Engine``), one module per engine, and the registry of them."""
