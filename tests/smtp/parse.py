"""Parses an .eml file with Python's own e-mail parser (not the host's) and prints JSON:
its headers, and each leaf part's content type, file name and decoded bytes (latin-1).

    parse.py FILE
"""

import json
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], "rb") as f:
    message = BytesParser(policy=policy.default).parse(f)
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    parts.append(
        {
            "content_type": part.get_content_type(),
            "filename": part.get_filename(),
            "content": part.get_payload(decode=True).decode("latin-1"),
        }
    )
print(
    json.dumps(
        {
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "parts": parts,
        }
    )
)
