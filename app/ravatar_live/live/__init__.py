"""Live session orchestration."""
