"""``input.reader`` of a pipeline file: which columns of a Parquet/JSONL table hold what, and how a
``.txt`` file is cut into documents (docs/inputs.md).

```yaml
input:
  reader:
    text_column: content        # the document's plain text (default: `html`, else `text`)
    id_column: doc_id           # default: id
    url_column: link            # default: url
    metadata_columns: [license, source_name]   # carried through to every stage's output
    txt_documents: file         # .txt: one document per file (default) or per blank_line block
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation import schema

#: Columns a reader writes itself; a metadata column of the same name would be ambiguous.
RESERVED = (*schema.DOC_SCHEMA.names, schema.STAGE, schema.REASON, schema.DETAIL)


class ReaderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: The column with the document as plain text (read as ``text``). Unset: the ``html`` column
    #: if the table has one, else ``text`` (the readers' behaviour before these options existed).
    text_column: str | None = None
    #: The column with the document as HTML (read as ``html``, then extracted). Unset: ``html``.
    html_column: str | None = None
    #: The record id (a document's id is a hash of the file's relative path and this value, so it
    #: is the same whatever the workers; without one, of the url and the content).
    id_column: str = "id"
    url_column: str = "url"
    #: Columns copied as they are into the documents (and so into every stage's output, the
    #: rejected rows and the query views). Parquet keeps the column's type, JSONL the JSON value's.
    metadata_columns: tuple[str, ...] = Field(default_factory=tuple)
    #: ``.txt`` files: ``file`` (one document per file) or ``blank_line`` (one per block of
    #: lines separated by one or more blank lines, as a text dump of paragraphs or records).
    txt_documents: Literal["file", "blank_line"] = "file"

    @field_validator("metadata_columns")
    @classmethod
    def _not_reserved(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        clash = [c for c in v if c in RESERVED]
        if clash:
            raise ValueError(f"metadata column {clash[0]!r} is a column the reader writes itself "
                             f"({', '.join(RESERVED)}); use text_column/id_column/url_column for those")
        if len(set(v)) != len(v):
            raise ValueError("metadata_columns repeats a column")
        return v

    def body_columns(self) -> tuple[str | None, str | None]:
        """(the html column, the text column) to read; None where that kind is not read: naming
        only one of ``text_column``/``html_column`` reads only that one."""
        html = self.html_column or (None if self.text_column else schema.HTML)
        text = self.text_column or (None if self.html_column else schema.TEXT)
        return html, text
