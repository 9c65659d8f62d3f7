"""Streams a chat completion through `openai-conn proxy` with the official Python SDK, the way
any program configured with `base_url` and an API key does. Prints one JSON line.

usage: client.py PROXY_HOST:PORT UPSTREAM_HOST:PORT
"""

import json
import sys
import urllib.request

import openai
from openai import OpenAI

proxy, upstream = sys.argv[1], sys.argv[2]
client = OpenAI(
    base_url=f"http://{proxy}/v1",
    api_key="sk-placeholder-the-proxy-replaces",
    max_retries=0,
    timeout=60,
)
stream = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Say hello"}],
    stream=True,
)
words = []
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        words.append(chunk.choices[0].delta.content)
        # Tell the upstream this event arrived; it sends the next one only then.
        urllib.request.urlopen(f"http://{upstream}/ack/{len(words)}").read()
print(json.dumps({"openai": openai.__version__, "text": "".join(words), "events": len(words)}))
