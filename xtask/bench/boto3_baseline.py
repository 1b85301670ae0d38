#!/usr/bin/env python3
"""The baseline of `cargo xtask bench`: what a user would write instead of kmsctl to read every key.

Assumes the role (like kmsctl), lists keys and aliases, then reads each key's metadata, policy, rotation
status and tags on a pool of threads. Prints one JSON line: {"keys", "aliases", "calls", "errors",
"first_error", "seconds"}. Exits 1 if a list call fails; errors on single keys are counted, not fatal.
"""

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-attempts", type=int, default=8)
    args = parser.parse_args()

    started = time.monotonic()
    config = Config(
        region_name=args.region,
        max_pool_connections=args.concurrency,
        retries={"mode": "standard", "max_attempts": args.max_attempts},
    )
    sts = boto3.client("sts", endpoint_url=args.endpoint, config=config)
    credentials = sts.assume_role(RoleArn=args.role_arn, RoleSessionName="boto3-baseline")["Credentials"]
    kms = boto3.client(
        "kms",
        endpoint_url=args.endpoint,
        config=config,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]
    aliases = [a for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]]

    lock = threading.Lock()
    tally = {"calls": 2, "errors": 0, "first_error": None}

    def call(operation, **kwargs):
        try:
            return getattr(kms, operation)(**kwargs)
        except (ClientError, BotoCoreError) as error:
            with lock:
                tally["errors"] += 1
                tally["first_error"] = tally["first_error"] or f"{operation}: {error}"
            return None
        finally:
            with lock:
                tally["calls"] += 1

    def read_key(key_id):
        metadata = call("describe_key", KeyId=key_id)
        policy = call("get_key_policy", KeyId=key_id, PolicyName="default")
        rotation = call("get_key_rotation_status", KeyId=key_id)
        tags = call("list_resource_tags", KeyId=key_id)
        return key_id, metadata, policy, rotation, tags

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(read_key, keys))

    print(
        json.dumps(
            {
                "keys": len(results),
                "aliases": len(aliases),
                "calls": tally["calls"],
                "errors": tally["errors"],
                "first_error": tally["first_error"],
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
