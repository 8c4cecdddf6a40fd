"""The voice catalog: who each voice is, which engine speaks it, and how a project's speakers map onto voices."""
