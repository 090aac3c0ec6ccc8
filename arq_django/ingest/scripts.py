"""Lua scripts: each step that must not be split by a crash runs as one atomic script.

Every step is conditional on the message still being in the caller's processing list, so an ingester
whose lease lapsed and whose messages were recovered by another cannot also enqueue them.

A script is atomic against other clients, not against its own failure: when a command errors, the
script stops and its earlier writes stay. So each script first checks, then writes the outcome, and
removes the message from the list it leaves only as its last command: a failure at any point leaves the
message where it was (and for the job write, ``pcall`` turns Redis' refusal into an answer instead).
"""

from __future__ import annotations

from arq_django import keys

CLAIM = """
-- Move up to ARGV[1] more messages from the source (KEYS[1], oldest end) to a processing list (KEYS[2]).
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local raw = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not raw then break end
  out[i] = raw
end
return out
"""

COMMIT = """
-- KEYS[1] processing list, KEYS[2] dead list, then 6 per enqueued message: job key, queue, the two keys
-- whose existence means the id is taken, a stale key to delete (the job key again when none), and the
-- queue's wake list. ARGV: 8 values per message: action, raw, then for 'E' job id, payload, expires ms,
-- score, guarded, has stale key; for 'D' the dead-letter entry. The writes are enqueue()'s (the same
-- JobPlan, the same commands as client.enqueue.write, the wake token included, so an idle worker
-- starts the job at once instead of at its next poll).
-- Returns per message 0 (not ours any more), 1 (done), 2 (guarded id already taken: a duplicate), or
-- {3, error} (Redis refused the job's write: nothing written, the message is still in KEYS[1]).
local out = {}
local k = 3
for i = 1, #ARGV, 8 do
  local action, raw = ARGV[i], ARGV[i + 1]
  local r = 0
  if redis.call('LPOS', KEYS[1], raw) then
    r = 1
    if action == 'D' then
      redis.call('LPUSH', KEYS[2], ARGV[i + 2])
    elseif action == 'E' then
      if ARGV[i + 6] == '1' and redis.call('EXISTS', KEYS[k + 2], KEYS[k + 3]) > 0 then
        r = 2
      else
        local set = redis.pcall('PSETEX', KEYS[k], ARGV[i + 4], ARGV[i + 3])
        local added = set
        if not set['err'] then added = redis.pcall('ZADD', KEYS[k + 1], ARGV[i + 5], ARGV[i + 2]) end
        if type(added) == 'table' and added['err'] then
          if not set['err'] then redis.call('DEL', KEYS[k]) end
          r = {3, added['err']}
        else
          if ARGV[i + 7] == '1' then redis.call('DEL', KEYS[k + 4]) end
          redis.call('LPUSH', KEYS[k + 5], '1')
          redis.call('LTRIM', KEYS[k + 5], 0, WAKE_CAP - 1)
        end
      end
    end
    if type(r) == 'number' then redis.call('LREM', KEYS[1], 1, raw) end
  end
  if action == 'E' then k = k + 6 end
  out[#out + 1] = r
end
return out
""".replace("WAKE_CAP", str(keys.WAKE_CAP))

RECOVER = """
-- KEYS[1] consumers set, KEYS[2] heartbeat, KEYS[3] processing list, KEYS[4] source; ARGV[1] consumer id,
-- ARGV[2] '1' to release one's own list. Puts the messages back at the source's consuming end, in order;
-- the consumer is forgotten only once its list is empty.
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = 0
while redis.call('LMOVE', KEYS[3], KEYS[4], 'LEFT', 'RIGHT') do n = n + 1 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return n
"""

MOVE_ONE = """
-- Remove one occurrence of ARGV[1] from KEYS[1]; if it was there and ARGV[2] is given, LPUSH it onto
-- KEYS[2] first (so a refused push leaves the entry where it was).
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
if ARGV[2] then redis.call('LPUSH', KEYS[2], ARGV[2]) end
redis.call('LREM', KEYS[1], 1, ARGV[1])
return 1
"""
