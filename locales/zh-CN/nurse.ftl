# 护士模式、登录、锁屏与管理（issue 7）。
rejected-no_exam_type = 已拒绝：请先选择检查类型
rejected-preparation_incomplete = 已拒绝：尚有准备项目未确认
