"""Notification service (8086): Email, SMS, push, webhooks, Telegram and in-app messages (issue
#9).
"""
