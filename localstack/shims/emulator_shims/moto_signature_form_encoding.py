"""Signature checks of form-encoded requests under IAM enforcement (an emulator gap, moto).

  SigV4 signs the request body as sent ("Create a canonical request": the payload hash is of the
  body's bytes, https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), and
  the query protocol's form body may percent-encode a space as `%20` (RFC 3986, what the AWS SDK
  for Rust sends) as well as `+`. With IAM enforcement on, moto recomputes the signature of a
  form-encoded request from its parsed parameters, re-encoded the way Python encodes them (`+`), so
  every request whose parameters hold a space (an IAM `CreateRole` with a pretty-printed trust
  policy, say) fails with `SignatureDoesNotMatch` although it was signed correctly. Fixed here: when
  the recomputed signature does not match, the parameters are encoded once more as RFC 3986 does
  (`%20`, only `-_.~` unencoded) and the signature checked against that body; a request signed with
  a wrong key still fails both ways.
"""

from urllib.parse import quote, urlencode


def _rfc3986_body(data):
    pairs = [(key, value) for key, values in data.items() for value in (values if isinstance(values, list) else [values])]
    return urlencode(pairs, quote_via=quote, safe="-_.~")


def _checking_both_encodings(check_signature):
    def check(self):
        try:
            return check_signature(self)
        except Exception as mismatch:
            if self._body or not isinstance(self._data, dict) or not self._data:
                raise
            original = self._get_string_between("Signature=", ",", self._headers["Authorization"])
            parsed, self._body = self._body, _rfc3986_body(self._data)
            try:
                recomputed = self._calculate_signature()
            finally:
                self._body = parsed
            if recomputed != original:
                raise mismatch

    return check


def install():
    try:
        from moto.iam.access_control import IAMRequestBase
    except ImportError:  # not moto's interpreter
        return
    IAMRequestBase.check_signature = _checking_both_encodings(IAMRequestBase.check_signature)
