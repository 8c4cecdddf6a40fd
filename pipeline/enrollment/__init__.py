"""Voice enrollment: a reference clip checked (``checks``), prepared, transcribed and stored (``enroll``) as the
voice's record in object storage (``record``), which every run applies to the catalog it loaded."""
