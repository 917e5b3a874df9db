"""Pure pandas normalizers: raw Tencent Meeting API records to the typed tables of docs/tables.md."""
