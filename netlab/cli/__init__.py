"""kubectl's part: typer commands that parse, call one library function and render."""
