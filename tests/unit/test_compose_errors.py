from doors.compose import _explain
from drills.errors import UsageError


def test_port_taken_becomes_a_usage_error_naming_the_port() -> None:
    out = (
        "Creating drill-abc123_lb_1 ... error\n"
        "ERROR: for lb  Cannot start service lb: driver failed programming external connectivity on endpoint "
        "drill-abc123_lb_1: Bind for 127.0.0.1:18080 failed: port is already allocated\n"
    )
    err = _explain("drill-abc123", "up", out)
    assert isinstance(err, UsageError)
    assert "port 127.0.0.1:18080 is already in use" in str(err)


def test_other_failures_keep_compose_last_line() -> None:
    err = _explain("drill-abc123", "up", "Pulling lb ...\nERROR: manifest for drill/lb:latest not found\n")
    assert not isinstance(err, UsageError)
    assert str(err) == "compose up of drill-abc123 failed: ERROR: manifest for drill/lb:latest not found"
