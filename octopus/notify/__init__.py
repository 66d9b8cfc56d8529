"""Telling the researcher when an experiment ends, and when its first command fails: by e-mail
(smtplib), a webhook (Slack and Mattermost incoming-webhook JSON) or any program of theirs."""
