"""Regions and availability zones Clouder knows, so a typo in a zone fails at validate time, not at apply."""

from __future__ import annotations

# AWS region -> zone suffixes (letters) that exist for most accounts.
AWS_REGIONS: dict[str, str] = {
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-1": "abc",
    "us-west-2": "abcd",
    "ca-central-1": "abd",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "eu-central-1": "abc",
    "eu-central-2": "abc",
    "eu-north-1": "abc",
    "eu-south-1": "abc",
    "ap-south-1": "abc",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "sa-east-1": "abc",
}

# Azure locations -> whether they offer availability zones "1", "2", "3".
AZURE_LOCATIONS: dict[str, bool] = {
    "eastus": True,
    "eastus2": True,
    "centralus": True,
    "southcentralus": True,
    "westus2": True,
    "westus3": True,
    "westus": False,
    "northcentralus": False,
    "canadacentral": True,
    "brazilsouth": True,
    "northeurope": True,
    "westeurope": True,
    "uksouth": True,
    "ukwest": False,
    "francecentral": True,
    "germanywestcentral": True,
    "swedencentral": True,
    "switzerlandnorth": True,
    "norwayeast": True,
    "polandcentral": True,
    "italynorth": True,
    "australiaeast": True,
    "japaneast": True,
    "koreacentral": True,
    "southeastasia": True,
    "eastasia": True,
    "centralindia": True,
    "southafricanorth": True,
}
AZURE_ZONES = ("1", "2", "3")


def aws_zones(region: str) -> list[str]:
    return [f"{region}{letter}" for letter in AWS_REGIONS.get(region, "")]
