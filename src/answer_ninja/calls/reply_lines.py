"""Every line the engine can say, by language, persona and slot. Data only; ``replies`` picks from it.

Short because they are spoken: under 20 Chinese characters or 15 English words (a unit test holds this).
The time-waster's lines sound interested and commit to nothing: no personal data, no payment, no codes.
"""

from __future__ import annotations

from answer_ninja.calls.vocabulary import EndReason, Intent, Language, Persona

Lines = tuple[str, ...]

# First answer to an unwanted call, by intent (every persona but the time-waster).
HANDLING: dict[Language, dict[Intent, Lines]] = {
    Language.ZH_CN: {
        Intent.SALES: ("您好，我暂时不需要这个。", "谢谢介绍，不过我没有需要。"),
        Intent.LOAN: ("您好，我不需要贷款，谢谢。", "我没有借款需求，谢谢。"),
        Intent.INVESTMENT: ("我不做这类投资，谢谢。", "理财的事我自己有安排。"),
        Intent.INSURANCE: ("保险我已经有了，谢谢。", "我暂时不考虑保险。"),
        Intent.TELECOM: ("我的套餐够用，不用换。", "谢谢，我不办理新业务。"),
        Intent.SURVEY: ("抱歉，我不参加电话调查。", "不好意思，我没空做问卷。"),
        Intent.REAL_ESTATE: ("我没有买卖房子的打算。", "房子的事暂时不考虑。"),
        Intent.SCAM: ("这类事我会自己去官方核实。", "我不会在电话里办理这些。"),
    },
    Language.EN_US: {
        Intent.SALES: ("Thanks, but I'm not interested in buying anything.", "I don't need that, thank you."),
        Intent.LOAN: ("I don't need a loan, thank you.", "No thanks, I'm not borrowing money."),
        Intent.INVESTMENT: ("I don't invest over the phone, thanks.", "My finances are taken care of, thank you."),
        Intent.INSURANCE: ("I already have the cover I need, thanks.", "I'm not shopping for insurance."),
        Intent.TELECOM: ("I'm happy with my current plan, thanks.", "No thanks, I'm not switching."),
        Intent.SURVEY: ("Sorry, I don't do phone surveys.", "No thanks, I'll skip the survey."),
        Intent.REAL_ESTATE: ("I'm not buying or selling property.", "No thanks, the house is not for sale."),
        Intent.SCAM: ("I'll check that myself with the official number.", "I don't handle that over the phone."),
    },
}

# A legitimate caller: take a message for the user. An unclear one: ask what it is about.
LEGITIMATE: dict[Language, Lines] = {
    Language.ZH_CN: ("您好，机主不方便接听，请留言。", "好的，请说，我会转告机主。", "您请讲，我帮您记下来。"),
    Language.EN_US: (
        "They can't come to the phone, may I take a message?",
        "Go ahead, I'll pass your message on.",
        "Please leave a message and I'll make sure they get it.",
    ),
}
UNCLEAR: dict[Language, Lines] = {
    Language.ZH_CN: ("您好，请问有什么事？", "不好意思，请问您是哪位？", "请问您找谁，有什么事吗？"),
    Language.EN_US: ("Hello, what is this about?", "Sorry, who is calling please?", "How can I help you?"),
}

# Declines that grow firmer, per persona. The time-waster has its own lines below.
STAGED: dict[Language, dict[Persona, dict[str, Lines]]] = {
    Language.ZH_CN: {
        Persona.POLITE: {
            "polite_decline": (
                "谢谢您，不过我真的不需要。",
                "辛苦了，但我确实不感兴趣。",
                "感谢来电，我不需要，谢谢。",
            ),
            "firm_rejection": ("我已经说过不需要了，请理解。", "真的不用了，请不要再推荐。", "谢谢，我的决定不会变。"),
            "hang_up_warning": (
                "如果您继续，我就要挂电话了。",
                "抱歉，再这样我只能挂断了。",
                "请理解，我准备挂电话了。",
            ),
        },
        Persona.DIRECT: {
            "polite_decline": ("不需要。", "不感兴趣，谢谢。", "这个我不要。"),
            "firm_rejection": ("说了不需要，别再推销了。", "不用了，请别再打来。", "我的回答不会变：不需要。"),
            "hang_up_warning": ("再说我就挂了。", "最后一次：不需要，我要挂了。", "我现在就挂电话。"),
        },
        Persona.HUMOROUS: {
            "polite_decline": (
                "我的钱包刚睡着，别吵醒它。",
                "谢谢，我的需求清单已经满了。",
                "这个机会还是留给别人吧。",
            ),
            "firm_rejection": ("我的答案比石头还硬：不要。", "再推销我就要收咨询费了。", "我的耳朵已经下班了。"),
            "hang_up_warning": ("我的手指已经放在挂断键上了。", "倒计时开始，三、二……", "电话要自动挂断了哦。"),
        },
        Persona.PROFESSIONAL: {
            "polite_decline": ("感谢来电，目前没有相关需求。", "已了解，暂不考虑，谢谢。", "感谢介绍，我们不需要。"),
            "firm_rejection": ("请将此号码移出您的名单。", "我们不接受电话推销，谢谢。", "请勿再就此事致电。"),
            "hang_up_warning": ("本次通话即将结束。", "如无其他事项，我将结束通话。", "我将结束这次通话。"),
        },
    },
    Language.EN_US: {
        Persona.POLITE: {
            "polite_decline": (
                "Thank you, but I'm really not interested.",
                "That's kind of you, but no thank you.",
                "I appreciate the call, but I'll pass.",
            ),
            "firm_rejection": (
                "I've said no, please respect that.",
                "Please don't offer this again, my answer is no.",
                "Thank you, but my decision won't change.",
            ),
            "hang_up_warning": (
                "If you continue, I'll have to hang up.",
                "I'm sorry, I'll end the call now if this goes on.",
                "Please understand, I'm about to hang up.",
            ),
        },
        Persona.DIRECT: {
            "polite_decline": ("Not interested.", "No, thanks.", "I don't want it."),
            "firm_rejection": ("I said no. Stop selling.", "No. Don't call again.", "My answer is still no."),
            "hang_up_warning": (
                "One more pitch and I hang up.",
                "Last time: no. I'm hanging up.",
                "I'm hanging up now.",
            ),
        },
        Persona.HUMOROUS: {
            "polite_decline": (
                "My wallet just fell asleep, let's not wake it.",
                "My shopping list is full until next century.",
                "Save this great deal for someone luckier.",
            ),
            "firm_rejection": (
                "My answer is harder than a rock: no.",
                "Another pitch and I start charging consulting fees.",
                "My ears just clocked out for the day.",
            ),
            "hang_up_warning": (
                "My finger is hovering over the red button.",
                "Countdown started: three, two...",
                "This call is about to self-destruct.",
            ),
        },
        Persona.PROFESSIONAL: {
            "polite_decline": (
                "Thank you for calling; we have no need at present.",
                "Noted, we will not be proceeding.",
                "Thank you, this is not of interest to us.",
            ),
            "firm_rejection": (
                "Please remove this number from your list.",
                "We do not accept telephone sales.",
                "Please do not call about this again.",
            ),
            "hang_up_warning": (
                "I will be ending this call shortly.",
                "Unless there is anything else, I'm ending the call.",
                "This call is about to end.",
            ),
        },
    },
}

# The opt-in time-waster: sounds interested, never commits, never gives anything away.
STALLING: dict[Language, Lines] = {
    Language.ZH_CN: (
        "哦？您再详细说说。",
        "等一下，我找支笔记一下。",
        "这个听起来挺复杂，能再讲一遍吗？",
        "我不太明白，您慢点说。",
        "信号不太好，您刚才说什么？",
        "嗯嗯，然后呢？",
        "我得先问问家里人，您继续说。",
        "稍等，我这边有人敲门。",
    ),
    Language.EN_US: (
        "Oh really? Tell me more about that.",
        "Hold on, let me find a pen.",
        "Sorry, could you explain that again slowly?",
        "Hmm, I'm not sure I follow.",
        "The line is bad, what did you say?",
        "Interesting, and then what?",
        "I'd have to ask my family first. Go on.",
        "One moment, someone's at the door.",
    ),
}

# Closing lines, by why the call ends.
CLOSING: dict[Language, dict[EndReason, Lines]] = {
    Language.ZH_CN: {
        EndReason.GOODBYE: ("好的，再见。", "再见，祝您愉快。"),
        EndReason.CALLER_HUNG_UP: ("对方已挂断。",),
        EndReason.MAX_TURNS: ("今天就聊到这里，再见。", "时间差不多了，再见。"),
        EndReason.MAX_DURATION: ("通话时间到了，再见。", "我得去忙了，再见。"),
        EndReason.PERSISTENCE: ("我已经拒绝了，现在挂断，再见。", "请不要再打来，再见。"),
        EndReason.FRUSTRATION: ("我们就到这里吧，再见。", "没必要继续了，再见。"),
        EndReason.MESSAGE_TAKEN: ("好的，已记下，我会转告的。", "收到，会尽快转告机主。"),
        EndReason.ENDED_EXTERNALLY: ("好的，先这样，再见。",),
    },
    Language.EN_US: {
        EndReason.GOODBYE: ("Alright, goodbye.", "Goodbye, have a nice day."),
        EndReason.CALLER_HUNG_UP: ("The caller hung up.",),
        EndReason.MAX_TURNS: ("That's all for today, goodbye.", "We're done here, goodbye."),
        EndReason.MAX_DURATION: ("We're out of time, goodbye.", "I have to go now, goodbye."),
        EndReason.PERSISTENCE: ("I've said no. Ending the call now, goodbye.", "Please don't call again. Goodbye."),
        EndReason.FRUSTRATION: ("Let's end it here. Goodbye.", "There's no point going on. Goodbye."),
        EndReason.MESSAGE_TAKEN: ("Got it, I'll pass that on.", "Thank you, they'll get your message."),
        EndReason.ENDED_EXTERNALLY: ("Okay, goodbye.",),
    },
}
