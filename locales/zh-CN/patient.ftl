# 患者模式：身份确认、安全问卷、检查须知、电极、屏气练习。句子简短、口语化。
patient-welcome-title = 您好！
patient-no-exam-body = 还没有为您登记检查。请找护士帮忙。
patient-language-hint = 右上角可以切换中文 / English。
patient-leave = 结束
patient-identity-title = 请确认您的姓名和出生日期
patient-identity-birth = 出生日期
patient-identity-question = 这是您吗？
patient-identity-yes = 是我
patient-identity-no = 不是我
patient-not-me-title = 请稍等
patient-not-me-body = 请告诉护士，护士会帮您核对。
patient-back = 上一步
patient-next = 下一步

patient-q-progress = 安全问题
patient-answer-yes = 是
patient-answer-no = 否
patient-answer-not-sure = 不确定
patient-q-implants = 您身体里有植入的器械吗？
patient-q-implants-hint = 例如心脏起搏器、除颤器、人工心脏瓣膜、血管夹、动脉瘤夹、神经刺激器、支架。
patient-q-metal = 您身体里有金属碎片吗？
patient-q-metal-hint = 例如眼睛里的铁屑、弹片，或工作中溅入的金属。
patient-q-pregnancy = 您怀孕了吗，或者可能怀孕吗？
patient-q-pregnancy-hint = 男性请选“否”。
patient-q-claustrophobia = 您害怕待在狭小封闭的地方吗？
patient-q-claustrophobia-hint = 例如电梯里或狭窄的房间里会紧张、心慌。
patient-q-contrast-allergy = 您以前用对比剂（俗称“造影剂”）时过敏过吗？
patient-q-contrast-allergy-hint = 以前做增强 CT 或磁共振时，出现过皮疹、憋气等反应。
patient-q-kidney = 您有肾脏病吗？
patient-q-kidney-hint = 例如肾功能不好、做透析、做过肾移植。
patient-q-asthma = 您有哮喘吗？
patient-q-asthma-hint = 包括以前有过哮喘，或需要用喷雾药。
patient-q-caffeine = 今天您喝过咖啡、茶或可乐吗？
patient-q-caffeine-hint = 也包括巧克力和功能饮料。

patient-instructions-title = 检查是这样的
patient-instr-flow = 您会平躺在检查床上，床会慢慢移进机器。
patient-instr-duration = 整个检查大约需要 45 到 60 分钟。
patient-instr-noise = 机器工作时声音很响，这是正常的。
patient-instr-earplugs = 我们会给您戴上耳塞或耳机。
patient-instr-still = 请尽量保持不动，图像才会清楚。
patient-instr-breath = 检查中会多次请您屏住呼吸，每次十几秒。
patient-instr-discomfort = 如果不舒服，请随时按手中的呼叫球。

patient-electrodes-title = 胸口会贴上电极片
patient-electrodes-picture = 四个电极片贴在左胸，彼此靠近
patient-electrodes-distance = ≤ 15 cm
patient-electrodes-clean = 护士会先清洁您胸口的皮肤。
patient-electrodes-pads = 再贴上几个小电极片。
patient-electrodes-heart = 它们用来记录您的心跳。
patient-electrodes-painless = 贴电极片不疼，也没有电流。
patient-electrodes-next = 练习屏气

patient-bh-title = 练习屏气
patient-bh-phase-expiration = 本检查在呼气后屏气。
patient-bh-phase-inspiration = 本检查在吸气后屏气。
patient-bh-picture = 肺部示意图
patient-bh-cue-ready = 准备好了就点“开始”
patient-bh-cue-in = 慢慢吸气
patient-bh-cue-out = 慢慢呼气
patient-bh-cue-hold = 屏住呼吸
patient-bh-cue-rest = 请正常呼吸
patient-bh-how = 跟着提示呼吸，然后尽量屏住。憋不住时点下面的按钮。
patient-bh-start = 开始
patient-bh-again = 再练一次
patient-bh-finish = 练习结束
patient-bh-breathe-now = 我要呼吸了
patient-bh-last = 刚才
patient-bh-count = 已练习次数
patient-bh-best = 最长屏气

patient-result-title = 练习完成，谢谢您！
patient-result-no-hold = 这次没有练习屏气。
patient-result-good = 很好！检查时请像这样屏气。
patient-result-free-breathing = 没关系，技师会选用不需要屏气的扫描。
patient-result-wait = 请稍坐，护士马上就来。

unit-seconds = 秒

# Each answer is confirmed on its own (issue 17).
patient-confirm-yes = 确认：是
patient-confirm-no = 确认：否
patient-confirm-not-sure = 确认：不确定
# The questions' short names (the exam log, the nurse's review).
patient-q-implants-short = 体内植入物
patient-q-metal-short = 体内金属碎片
patient-q-pregnancy-short = 妊娠
patient-q-claustrophobia-short = 幽闭恐惧
patient-q-contrast-allergy-short = 对比剂过敏
patient-q-kidney-short = 肾脏病
patient-q-asthma-short = 哮喘
patient-q-caffeine-short = 今日咖啡、茶或可乐
# What each question's picture shows.
patient-picture-implant = 图：心脏起搏器和导线
patient-picture-metal = 图：金属碎片
patient-picture-pregnancy = 图：孕妇
patient-picture-claustrophobia = 图：人躺在狭窄的扫描孔里
patient-picture-allergy = 图：对比剂注射器
patient-picture-kidney = 图：肾脏
patient-picture-asthma = 图：肺
patient-picture-caffeine = 图：一杯咖啡
# The stress drug, for stress exams only.
patient-stress-title = 关于负荷检查用药
patient-stress-picture = 图：心脏
patient-stress-what-adenosine = 扫描中会通过输液给您用一种药，叫腺苷。
patient-stress-what-regadenoson = 扫描中会给您静脉注射一次药物，叫瑞加德松。
patient-stress-heart = 它让心脏像运动时一样工作。
patient-stress-feel = 您可能觉得脸红发热、胸闷，或者气短。
patient-stress-passes-adenosine = 这是正常反应。停药后一两分钟内就会消失。
patient-stress-passes-regadenoson = 这是正常反应，通常几分钟内消失。必要时我们会用药让它停止。
patient-stress-tell = 有不适请马上捏呼叫球或直接说话，我们听得到。
patient-stress-watch = 我们会一直监测您的心率和血压。
patient-bh-target = 请尽量屏住
