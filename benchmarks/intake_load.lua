-- wrk script: POST a realistic Vietnamese comment, a different reader IP and article each time,
-- and remember the id of every comment answered 202.
local counter = 0
local bodies = {
  "Bài viết rất hữu ích, cảm ơn tác giả. Mong tỉnh sớm hoàn thành chuyển đổi số!",
  "Bai viet hay qua, cam on tac gia nhe",
  "ko bít j lun, thủ tục này có dc làm online ko ạ?",
  "Đề nghị cơ quan chức năng kiểm tra lại việc cấp phép xây dựng ở phường này.",
}
ids = {}
count202 = 0
other = 0

request = function()
  counter = counter + 1
  local ip = string.format("113.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local body = string.format(
    '{"article":{"id":"bench-%d","title":"Tin thử nghiệm"},"author":{"name":"Độc giả %d","email":"reader%d@example.vn"},"body":"%s","client":{"ip":"%s","user_agent":"wrk"}}',
    counter % 50, counter, counter, bodies[(counter % #bodies) + 1], ip)
  return wrk.format("POST", nil, nil, body)
end

response = function(status, headers, body)
  if status == 202 then
    count202 = count202 + 1
    local id = string.match(body, '"id":%s*(%d+)')
    if id then ids[#ids + 1] = id end
  else
    other = other + 1
  end
end

local threads = {}
setup = function(thread) threads[#threads + 1] = thread end

done = function(summary, latency, requests)
  local out = io.open(os.getenv("WRK_IDS_FILE") or "/dev/null", "w")
  local total202, totalother = 0, 0
  for _, t in ipairs(threads) do
    total202 = total202 + t:get("count202")
    totalother = totalother + t:get("other")
    local tids = t:get("ids")
    for i = 1, #tids do out:write(tids[i], "\n") end
  end
  out:close()
  io.write(string.format("RESULT requests=%d ok202=%d other=%d p50_us=%d p90_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, total202, totalother, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), summary.duration))
end
