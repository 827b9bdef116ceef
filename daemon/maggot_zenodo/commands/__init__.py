"""The one-shot commands behind the CLI (`check`, `publish`, `status`).

May import every package below the runtime: `publish`, `state`, `convert`, `zenodo`, and the
bottom modules (`config`, `errors`, `logs`, ...). Imported only by `cli`.
"""
