"""Rate limiting: native tables of fixed windows (``table``), private to a process or shared by the
worker processes of one host."""
