"""The SMTP server the mail tests talk to (aiosmtpd, installed by scripts/setup).

    server.py --port PORT --dir DIR [--answer "451 4.3.0 try later"]
              [--tls-cert CERT --tls-key KEY [--implicit-tls]] [--auth USER:PASSWORD]

Listens on 127.0.0.1:PORT. Each message it accepts is saved in DIR as NNNN.eml (the bytes
as received) with NNNN.json beside it (envelope sender and recipients), written aside and
renamed. With --answer, every DATA gets that reply instead (a 4xx or 5xx refusal), and
each refusal is counted in DIR/refused. With --tls-cert and --tls-key it requires STARTTLS
(or, with --implicit-tls, speaks TLS from the first byte, as on port 465);
with --auth it requires that login (after STARTTLS). Prints "ready" once listening.
"""

import argparse
import asyncio
import itertools
import json
import os
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, folder: str, answer: str | None):
        self.folder = folder
        self.answer = answer
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.answer:
            with open(os.path.join(self.folder, "refused"), "a") as f:
                f.write("x")
            return self.answer
        n = next(self.numbers)
        base = os.path.join(self.folder, f"{n:04}")
        with open(base + ".json.tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--answer")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    options = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            options.update(ssl_context=context)
        else:
            options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers a failure with 535 itself.
            return AuthResult(success=ok, handled=False)

        options.update(
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=bool(args.tls_cert) and not args.implicit_tls,
        )
    controller = Controller(
        Saver(args.dir, args.answer),
        hostname="127.0.0.1",
        port=args.port,
        data_size_limit=64 * 1024 * 1024,
        **options,
    )
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
