"""A transport that lives outside gateway/, as one from another distribution would: a pager network whose numbers
are `p` and digits. tests/test_plugin_transport.py installs it through an entry point in a throwaway
distribution and checks that the gateway serves its commands, registration form, contacts, CLI and table without
any change under gateway/.
"""
