"""Assessment 41: what does len(range(3, 12)) return?"""

answer = len(range(3, 12))
assert answer == 9
