"""Free addresses of an IPv6-only subnet (an emulator gap, both engines).

  ec2:DescribeSubnets AvailableIpAddressCount
      AWS counts unused private IPv4 addresses there ("The number of unused private IPv4 addresses in
      the subnet", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Subnet.html), so an
      IPv6-only subnet, which has no IPv4 range, has none. moto counts the IPv6 range instead
      (18446744073709551611 for a /64), which overflows the API's integer and fails every SDK that
      reads the subnet. Fixed here: a subnet without an IPv4 range reports 0.
"""


def _ipv4_only_count(count):
    def available_ip_address_count(self):
        if not self.cidr_block:
            return 0
        return count.fget(self)

    return property(available_ip_address_count)


def install():
    try:
        from moto.ec2.models.subnets import Subnet
    except ImportError:  # not an emulator's interpreter
        return
    Subnet.available_ip_address_count = _ipv4_only_count(Subnet.available_ip_address_count)
