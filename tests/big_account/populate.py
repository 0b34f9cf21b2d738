"""Fills an emulated account with a big legacy estate, then counts it back with boto3.

Run with the emulator venv's Python and the account's credentials in the environment
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ENDPOINT_URL`):

    python populate.py --scale 1.0

At scale 1.0 the account holds 1,200 IAM users (every third with an access key, every fourth with a
console password, every fortieth an administrator), 120 customer-managed policies (every tenth grants
`*:*`), 1,100 instances, 600 security groups (every tenth opens SSH to the world) and 40 VPCs, half in
each of two regions, 150 CloudWatch alarms and 120 KMS keys with an alias each. `--scale 0.1` makes
a tenth of each.

The last line of stdout is a JSON object of counts read back from the emulator with boto3 alone (every
page followed), independent of mamori's code: the test compares mamori's findings with them.
"""

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.parsers import ResponseParserError

REGIONS = ["us-east-1", "eu-west-1"]
CONFIG = Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=16)
THREADS = 8
# Longer than the test emulator's propagation delay (`harness::PROPAGATION_DELAY`).
PROPAGATION_SECONDS = 1.5

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
NARROW_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::legacy/*"}]}


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"], config=CONFIG)


def in_parallel(work, items):
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda item: retried(work, item), items))


def retried(work, item):
    """moto server sometimes answers a burst of concurrent writes with an HTML 500 page, which botocore
    cannot parse (and so does not retry): the work is tried again, up to five times."""
    for attempt in range(5):
        try:
            return work(item)
        except ResponseParserError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def populate(scale):
    iam = client("iam")
    policies = round(120 * scale)
    admin_arns = []

    def make_policy(i):
        document = ADMIN_POLICY if i % 10 == 0 else NARROW_POLICY
        arn = iam.create_policy(PolicyName=f"legacy-policy-{i:04}", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        if i % 10 == 0:
            admin_arns.append(arn)

    in_parallel(make_policy, range(policies))
    admin_arn = sorted(admin_arns)[0]

    def make_user(i):
        name = f"legacy-user-{i:04}"
        iam.create_user(UserName=name)
        if i % 3 == 0:
            iam.create_access_key(UserName=name)
        if i % 4 == 0:
            iam.create_login_profile(UserName=name, Password="Legacy-Passw0rd-Not-Secret!")
        if i % 40 == 0:
            iam.attach_user_policy(UserName=name, PolicyArn=admin_arn)

    in_parallel(make_user, range(round(1200 * scale)))

    for region in REGIONS:
        ec2 = client("ec2", region)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        # Five instances a reservation, as launched over the years: DescribeInstances pages by reservation.
        launches = [min(5, round(550 * scale) - first) for first in range(0, round(550 * scale), 5)]
        in_parallel(lambda count, ec2=ec2, image=image: ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=count, MaxCount=count), launches)
        default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]

        def make_group(i, ec2=ec2, default_vpc=default_vpc, region=region):
            group = ec2.create_security_group(GroupName=f"legacy-sg-{region}-{i:04}", Description="legacy", VpcId=default_vpc)["GroupId"]
            if i % 10 == 0:
                ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

        in_parallel(make_group, range(round(300 * scale)))
        in_parallel(lambda i, ec2=ec2: ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16"), range(round(20 * scale)))

    cloudwatch = client("cloudwatch")
    in_parallel(
        lambda i: cloudwatch.put_metric_alarm(
            AlarmName=f"legacy-alarm-{i:04}", MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average",
            Period=300, EvaluationPeriods=1, Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
        ),
        range(round(150 * scale)),
    )

    kms = client("kms")
    keys = {}
    in_parallel(lambda i: keys.__setitem__(i, kms.create_key(Description=f"legacy key {i}")["KeyMetadata"]["KeyId"]), range(round(120 * scale)))
    # KMS is eventually consistent: a key younger than the emulator's propagation delay cannot take an alias yet.
    time.sleep(PROPAGATION_SECONDS)
    in_parallel(lambda i: kms.create_alias(AliasName=f"alias/legacy-{i:04}", TargetKeyId=keys[i]), sorted(keys))


def all_pages(client, operation, key, **params):
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def count():
    """What the account holds, read with boto3's paginators only."""
    iam = client("iam")
    users = all_pages(iam, "list_users", "Users")
    with_keys, with_passwords, admins_with_keys = set(), set(), set()

    def inspect(user):
        name = user["UserName"]
        if all_pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name):
            with_keys.add(name)
        try:
            iam.get_login_profile(UserName=name)
            with_passwords.add(name)
        except iam.exceptions.NoSuchEntityException:
            pass
        attached = all_pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
        if name in with_keys and any(p["PolicyName"].startswith("legacy-policy-") and int(p["PolicyName"][-4:]) % 10 == 0 for p in attached):
            admins_with_keys.add(name)

    in_parallel(inspect, users)
    policies = all_pages(iam, "list_policies", "Policies", Scope="Local")
    star_policies = [p for p in policies if int(p["PolicyName"][-4:]) % 10 == 0]
    counts = {
        "users": len(users),
        "users_with_access_keys": len(with_keys),
        "users_with_console_passwords": len(with_passwords),
        "admins_with_access_keys": len(admins_with_keys),
        "customer_policies": len(policies),
        "star_policies": len(star_policies),
        "regions": {},
    }
    for region in REGIONS:
        ec2 = client("ec2", region)
        instances = [i for r in all_pages(ec2, "describe_instances", "Reservations") for i in r["Instances"]]
        groups = all_pages(ec2, "describe_security_groups", "SecurityGroups")
        open_ssh = [g for g in groups if any(p.get("FromPort") == 22 and any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", [])) for p in g["IpPermissions"])]
        vpcs = all_pages(ec2, "describe_vpcs", "Vpcs")
        counts["regions"][region] = {
            "instances": len(instances),
            "security_groups": len(groups),
            "security_groups_open_to_ssh": len(open_ssh),
            "vpcs": len(vpcs),
            "non_default_vpcs": len([v for v in vpcs if not v["IsDefault"]]),
        }
    counts["alarms"] = len(all_pages(client("cloudwatch"), "describe_alarms", "MetricAlarms"))
    counts["kms_aliases"] = len([a for a in all_pages(client("kms"), "list_aliases", "Aliases") if a["AliasName"].startswith("alias/legacy-")])
    counts["kms_keys"] = len(all_pages(client("kms"), "list_keys", "Keys"))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    populate(args.scale)
    print(json.dumps(count()))


if __name__ == "__main__":
    main()
