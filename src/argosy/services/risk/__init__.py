"""Risk service (8085): Risk rules, real-time exposure, protection and reports (issue #8)."""
