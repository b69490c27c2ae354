"""SQLite storage: one WAL database, per-component migrations, repositories."""
