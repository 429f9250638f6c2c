# Nurse mode, sign-in, lock screen and admin (issue 7).
rejected-no_exam_type = Refused: choose the exam type first
rejected-preparation_incomplete = Refused: a preparation item is not yet confirmed
