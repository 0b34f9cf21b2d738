"""The credential report as CSV that quotes a user name holding a comma (gap, moto).

IAM user names may contain `+=,.@_-` (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html),
and the credential report is a CSV file
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html), so a name with
a comma, and the ARN that ends with it, are quoted fields (RFC 4180). moto joins the fields with
commas unquoted, which shifts every later column of that user's row.

Here a user's row quotes its name and ARN when either holds a comma or a double quote; every other
field is as moto writes it.
"""


def _quoted(field):
    if "," in field or '"' in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def _quoting(to_csv):
    def quoted_to_csv(self):
        row = to_csv(self)
        unquoted = f"{self.name},{self.arn},"
        if row.startswith(unquoted):
            row = f"{_quoted(self.name)},{_quoted(self.arn)}," + row[len(unquoted):]
        return row

    return quoted_to_csv


def install():
    try:
        from moto.iam.models import User
    except ImportError:  # not moto's interpreter
        return
    User.to_csv = _quoting(User.to_csv)
