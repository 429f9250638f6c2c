# Patient mode: identity, safety questions, what the exam is like, electrodes,
# breath-hold practice. Plain, short sentences.
patient-welcome-title = Hello!
patient-no-exam-body = Your exam is not registered yet. Please ask the nurse.
patient-language-hint = Switch 中文 / English at the top right.
patient-leave = Done
patient-identity-title = Please check your name and date of birth
patient-identity-birth = Date of birth
patient-identity-question = Is this you?
patient-identity-yes = Yes, it's me
patient-identity-no = No, not me
patient-not-me-title = Please wait
patient-not-me-body = Please tell the nurse. The nurse will check with you.
patient-back = Back
patient-next = Next

patient-q-progress = Safety question
patient-answer-yes = Yes
patient-answer-no = No
patient-answer-not-sure = Not sure
patient-q-implants = Do you have any implant or device in your body?
patient-q-implants-hint = For example a pacemaker, defibrillator, heart valve, clip, stimulator or stent.
patient-q-metal = Do you have metal fragments in your body?
patient-q-metal-hint = For example metal in the eyes, shrapnel, or from work accidents.
patient-q-pregnancy = Are you pregnant, or could you be?
patient-q-pregnancy-hint = Men, please choose No.
patient-q-claustrophobia = Are you afraid of small closed spaces?
patient-q-claustrophobia-hint = For example, lifts or small rooms make you nervous.
patient-q-contrast-allergy = Have you ever reacted badly to contrast dye?
patient-q-contrast-allergy-hint = For example a rash or breathing trouble after a CT or MRI scan.
patient-q-kidney = Do you have kidney disease?
patient-q-kidney-hint = For example weak kidneys, dialysis or a kidney transplant.
patient-q-asthma = Do you have asthma?
patient-q-asthma-hint = Also if you had it before, or use an inhaler.
patient-q-caffeine = Did you have coffee, tea or cola today?
patient-q-caffeine-hint = Chocolate and energy drinks count too.

patient-instructions-title = What the exam is like
patient-instr-flow = You lie on your back. The table slides slowly into the scanner.
patient-instr-duration = The exam takes about 45 to 60 minutes.
patient-instr-noise = The scanner is very loud. This is normal.
patient-instr-earplugs = We give you earplugs or headphones.
patient-instr-still = Please keep still, so the pictures are clear.
patient-instr-breath = We ask you to hold your breath many times, each time briefly.
patient-instr-discomfort = If you feel unwell, squeeze the call ball at any time.

patient-electrodes-title = Small pads go on your chest
patient-electrodes-picture = Four electrode pads on the left chest, close together
patient-electrodes-distance = ≤ 15 cm
patient-electrodes-clean = The nurse first cleans the skin on your chest.
patient-electrodes-pads = Then a few small sticky pads go on your chest.
patient-electrodes-heart = They record your heartbeat.
patient-electrodes-painless = The pads do not hurt. No electricity goes in.
patient-electrodes-next = Practise breathing

patient-bh-title = Practise holding your breath
patient-bh-phase-expiration = In this exam you hold your breath after breathing out.
patient-bh-phase-inspiration = In this exam you hold your breath after breathing in.
patient-bh-picture = Picture of the lungs
patient-bh-cue-ready = Touch Start when you are ready
patient-bh-cue-in = Breathe in slowly
patient-bh-cue-out = Breathe out slowly
patient-bh-cue-hold = Hold your breath
patient-bh-cue-rest = Breathe normally
patient-bh-how = Follow the prompts, then hold. Touch the button when you must breathe.
patient-bh-start = Start
patient-bh-again = Practise again
patient-bh-finish = Finish practice
patient-bh-breathe-now = I need to breathe
patient-bh-last = Just now
patient-bh-count = Times practised
patient-bh-best = Longest hold

patient-result-title = Well done, thank you!
patient-result-no-hold = You did not practise a breath-hold this time.
patient-result-good = Good! Hold your breath like this during the exam.
patient-result-free-breathing = That is fine. We will use scans that need no breath-hold.
patient-result-wait = Please take a seat. The nurse will come soon.

unit-seconds = s

# Each answer is confirmed on its own (issue 17).
patient-confirm-yes = Confirm: Yes
patient-confirm-no = Confirm: No
patient-confirm-not-sure = Confirm: Not sure
# The questions' short names (the exam log, the nurse's review).
patient-q-implants-short = Implants
patient-q-metal-short = Metal fragments
patient-q-pregnancy-short = Pregnancy
patient-q-claustrophobia-short = Fear of closed spaces
patient-q-contrast-allergy-short = Contrast allergy
patient-q-kidney-short = Kidney disease
patient-q-asthma-short = Asthma
patient-q-caffeine-short = Coffee, tea or cola today
# What each question's picture shows.
patient-picture-implant = Picture of a pacemaker with its wire
patient-picture-metal = Picture of a metal splinter
patient-picture-pregnancy = Picture of a pregnant woman
patient-picture-claustrophobia = Picture of a person inside the narrow scanner
patient-picture-allergy = Picture of a contrast syringe
patient-picture-kidney = Picture of a kidney
patient-picture-asthma = Picture of the lungs
patient-picture-caffeine = Picture of a cup of coffee
# The stress drug, for stress exams only.
patient-stress-title = About the heart medicine
patient-stress-picture = Picture of a heart
patient-stress-what-adenosine = During the scan you get a medicine through a drip. It is called adenosine.
patient-stress-what-regadenoson = During the scan you get one injection of a medicine. It is called regadenoson.
patient-stress-heart = It makes your heart work as if you were exercising.
patient-stress-feel = You may feel warm and flushed, a tight chest, or short of breath.
patient-stress-passes-adenosine = This is normal. It stops within a minute or two after the drip stops.
patient-stress-passes-regadenoson = This is normal. It usually passes within a few minutes. We can also give a medicine to stop it.
patient-stress-tell = Tell us at once with the call ball or by speaking. We can hear you.
patient-stress-watch = We watch your heart and blood pressure all the time.
patient-bh-target = Try to hold for
