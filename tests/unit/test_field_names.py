"""Names are matched as whole words of the identifier (issue 21, class 11)."""

from __future__ import annotations

import pytest

from middlebrick.checks._field_names import key_words, names
from middlebrick.checks._properties import sensitivity
from middlebrick.checks._validators import ssn_key


def test_key_words_split_on_separators_and_camel_case() -> None:
    assert key_words("macAddress__n") == ["mac", "address", "n"]
    assert key_words("x-api.Key") == ["x", "api", "key"]


@pytest.mark.parametrize(
    "key", ["ssn", "customer_ssn", "social_security_number", "taxpayerId", "SocialSecurityNo"]
)
def test_ssn_names_are_recognised(key: str) -> None:
    assert ssn_key(key)


@pytest.mark.parametrize("key", ["mac_address__n", "class_name", "business_unit", "lessons"])
def test_letters_that_only_spell_ssn_inside_other_words_are_not_an_ssn_name(key: str) -> None:
    assert not ssn_key(key)


def test_a_phrase_matches_a_run_of_consecutive_words_only() -> None:
    assert names("creditCardNumber", {"cardnumber"})
    assert names("clientsecret", {"secret"})  # one word ending with a long phrase
    assert not names("card_holder_number", {"cardnumber"})
    assert not names("secretary_name", {"secret"})


def test_sensitivity_reads_whole_words() -> None:
    assert sensitivity("customer_ssn", "123-45-6789") == "personal"
    assert sensitivity("mac_address__n", "00:1B:44:11:3A:B7") is None
    assert sensitivity("api_key", "zq8Jv3tPpW4LrNfX9aKdYc2H") == "secret"
    assert sensitivity("passwordHash", "$2b$12$abcdefghijklmnopqrstuv") == "credential"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("PWD", "/srv/app", None),  # the shell's working directory
        ("OLDPWD", "/srv", None),  # cd's previous directory
        ("DB_PWD", "s3cr3t-db", "credential"),
        ("MYSQL_PWD", "s3cr3t-db", "credential"),
        ("pwd", "hunter22", "credential"),  # a login body's password
        ("POSTGRES_PASSWORD", "postgres-pw", "credential"),
    ],
)
def test_the_shell_directory_variables_are_not_passwords(
    key: str, value: str, expected: str | None
) -> None:
    assert sensitivity(key, value) == expected
