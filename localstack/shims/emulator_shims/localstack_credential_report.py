"""The credential report on LocalStack (an emulator gap).

  iam:GetCredentialReport
      LocalStack's own IAM provider writes the user rows with `writerow` after its loop instead of
      inside it: the report holds only the last user, and an account without users fails with HTTP 500
      ("cannot access local variable 'row'"). Fixed here: its row builder is run once per user and the
      rows are joined under one header and its `<root_account>` row.
"""

def _one_report_row_per_user(generate):
    import types

    placeholder = types.SimpleNamespace(
        user={"Arn": "", "CreateDate": None}, login_profile=None, mfa_devices=[], access_keys={}, signing_certificates={}
    )

    def _generate_credential_report_csv(self, store, account_id, partition):
        users = list(store.USERS.items())
        head, rows = [], []
        for name, entity in users or [("", placeholder)]:
            lines = generate(self, types.SimpleNamespace(USERS={name: entity}), account_id, partition).decode("utf-8")
            lines = lines.splitlines(keepends=True)
            head = lines[:2]  # the header and the root row
            if users:
                rows.extend(lines[2:])
        return "".join(head + rows).encode("utf-8")

    return _generate_credential_report_csv


def install():
    try:
        from localstack.services.iam.provider import IamProvider
    except ImportError:  # not LocalStack's interpreter
        return
    IamProvider._generate_credential_report_csv = _one_report_row_per_user(IamProvider._generate_credential_report_csv)
