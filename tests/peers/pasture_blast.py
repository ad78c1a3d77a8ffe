"""Sends every example of the fediverse-pasture-inputs corpus to one inbox, from pasture's
one_actor, in one process (the shell script in ../shared/peers starts a process per example).

Run it in one_actor's folder (it reads the actor's keys from data.toml):
    python pasture_blast.py http://localhost:PORT acct:handle@host
Prints one line per example ("sent" or "FAIL") and a summary line "total N sent S".
"""
import asyncio
import sys

from fediverse_pasture.runner.config import SendingConfig
from fediverse_pasture.send import handle_send_to
from fediverse_pasture.send.modifier import ModifierBuilder
from fediverse_pasture_inputs import available


async def main(domain: str, target: str) -> None:
    total = sent = 0
    for name, inputs in available.items():
        for number in range(len(inputs.examples)):
            total += 1
            modifier = ModifierBuilder(
                text=None, input_name=name, input_number=number
            ).build()
            try:
                ok = await handle_send_to(
                    modifier, domain, target, SendingConfig(), False, False
                )
            except Exception as e:  # a refused or unsendable example; counted, not fatal
                ok = False
                print(f"FAIL {name}#{number}: {type(e).__name__}: {str(e)[:160]}")
            else:
                print(f"{'sent' if ok else 'FAIL'} {name}#{number}")
            sent += bool(ok)
    print(f"total {total} sent {sent}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
