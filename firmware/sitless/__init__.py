"""The sitless chair firmware; see firmware/README.md."""
