"""Run Debian's onionbalance (0.2.2, v3) against the private network: `/usr/bin/python3 ob_testnet.py
-p CONTROL_PORT -c CONFIG`. Dev only; production runs onionbalance itself.

onionbalance's `--is-testnet` assumes chutney's 20 s voting interval; ours is 10 s (devnet/torrc.py),
and tor derives the time period (24 rounds) and the shared-random phase (12 rounds) from it. With
the wrong lengths the frontend descriptor is blinded for another period and uploaded to the wrong
HSDirs, and no client ever finds it. This runs onionbalance with those lengths fixed to ours and
its 45 s start delay shortened, and changes nothing else. It imports only onionbalance (Debian's
python3 packages), not the project.
"""

import sys

from onionbalance.hs_v3 import consensus, manager, params

VOTING_INTERVAL = 10  # devnet/torrc.py


def _srv_phase_minutes(self):
    return 12 * VOTING_INTERVAL // 60


def _time_period_minutes(self):
    return 24 * VOTING_INTERVAL // 60


def _start_of_current_srv_run(self):
    import stem.util

    begin = stem.util.datetime_to_unix(self.consensus.valid_after)
    return int(begin - (begin // VOTING_INTERVAL % 24) * VOTING_INTERVAL)


def _start_of_previous_srv_run(self):
    return self.get_start_time_of_current_srv_run() - 24 * VOTING_INTERVAL


consensus.Consensus._get_srv_phase_duration = _srv_phase_minutes
consensus.Consensus.get_time_period_length = _time_period_minutes
consensus.Consensus.get_start_time_of_current_srv_run = _start_of_current_srv_run
consensus.Consensus.get_start_time_of_previous_srv_run = _start_of_previous_srv_run
params.INITIAL_CALLBACK_DELAY = 2  # the network is up when this starts
params.FETCH_DESCRIPTOR_FREQUENCY_TESTNET = 10
params.PUBLISH_DESCRIPTOR_CHECK_FREQUENCY_TESTNET = 5

if __name__ == "__main__":
    from onionbalance.common import argparser

    args = argparser.get_common_argparser().parse_args()
    args.is_testnet = True
    sys.exit(manager.main(args))
