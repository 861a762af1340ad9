"""Weighted patterns that signal each intent, per language. Data, not logic: ``intents.classify`` scores them.

Weights: 3 = names the intent on its own (贷款, "life insurance"); 2 = strong hint; 1-1.5 = generic word that only
tips a close call ("优惠", "offer"). Patterns run on normalised text (``intents.normalise``): Mandarin without
spaces or punctuation, English lower-case with single spaces. Common ASR confusions are listed beside the word
they stand for (代款/带款 for 贷款, 理材 for 理财, 保线 for 保险, 移东 for 移动, "insurants", "invest mint").

Scam patterns name what a scam asks for (codes, passwords, transfers, "safe accounts", gift cards, remote access)
and whom it impersonates (police, courts, bosses, family in trouble); a legitimate caller does not ask for these.
"""

from __future__ import annotations

from answer_ninja.calls.vocabulary import Intent, Language

WeightedPatterns = dict[Intent, tuple[tuple[float, str], ...]]

ZH: WeightedPatterns = {
    Intent.SCAM: (
        (1.5, r"公安|警察|派出所|检察院|法院|网警|公检法|国家安全|刑警"),
        (3, r"涉嫌|洗钱|洗前|违禁品|传票|犯罪|逮捕|通缉|案件"),
        (3, r"安全(账|帐)户|国家(账|帐)户|指定(账|帐)户|新(账|帐)户|这个(账|帐)户"),
        (2, r"验证码|验证马|验正码|验证吗|密码"),
        (3, r"(告诉|提供|念|报|说|发).{0,8}(验证码|验证马|验正码|密码|卡号|数字)"),
        (2.5, r"转(到|入|给|我)|(把|将).{0,4}(钱|资金|款).{0,4}转|打款|汇款|打钱|汇.{0,3}钱|垫付"),
        (1, r"转账"),
        (2, r"冻结|解冻"),
        (1.5, r"医保卡|社保卡|按照(提示|我说的|我的)"),
        (3, r"(关闭|注销).{0,10}(白条|花呗|借呗|金条|百万保障)"),
        (2, r"按[一二三四五六七八九0-9]"),
        (1, r"异常|风险"),
        (2, r"中奖|中了.{0,6}奖|大奖|幸运"),
        (2, r"个人所得税|手续费|保证金|先交|先付"),
        (3, r"(先交|先付|缴纳).{0,6}(保证金|手续费|解冻费|会员费|税)|(保证金|手续费).{0,8}(才能|放款|到账)"),
        (3, r"(领导|老板|财务).{0,20}(转|打款|汇|钱)"),
        (3, r"(手机丢了|新号码|出车祸|出事|急需|急用|赶紧).{0,12}(钱|转|打|借)|急需用钱|手术费"),
        (3, r"刷单|日赚|返佣|返利"),
        (3, r"屏幕共享|共享屏幕|会议软件|远程(控制|协助|操作)|下载.{0,6}(软件|app)"),
        (2, r"加.{0,3}(qq|微信)"),
        (1.5, r"退款"),
        (3, r"银行卡(号|信息)|卡号和"),
        (2, r"起诉|逾期"),
        (2, r"保密|不能告诉|别告诉|别跟.{0,4}说"),
        (1.5, r"征信.{0,8}(问题|影响|验证)"),
        (3, r"注销.{0,6}(贷|账户|帐户)|(贷|账户|帐户).{0,10}注销"),
        # Threats, links to "fill in your card", fees before a release: no real caller needs any of these.
        (3, r"(不要|不许|别)报警|在我们手上|被人扣|绑架"),
        (2, r"(点击|点开|点一下).{0,6}链接|链接.{0,8}(填写|输入)"),
        (2.5, r"(打|转|汇)(点|些|一点)钱|钱.{0,2}(打|转|汇)过来"),
    ),
    Intent.LEGITIMATE: (
        (2, r"快递员|快递|外卖|包裹|取件|订单|发货|送达|邮政|挂号信|门卫"),
        (2, r"医院|诊所|复诊|体检|药房|处方|牙科|预约"),
        (2, r"妈|爸|儿子|女儿|闺女|老公|老婆|爷爷|奶奶|宝贝|孙子|孙女"),
        (2, r"班主任|老师|幼儿园|学校"),
        (2, r"物业|停水|停电|邻居|漏水|房东|房租|师傅"),
        (2, r"面试|人事|同事|开会|邮箱"),
        (3, r"本人操作|卡背面|客服电话|(转账|交易).{0,8}(退回|失败)|手机银行|还款日|按时还款|账单"),
        (2, r"找到了|来领取|来拿|来取|下来拿|来接|接一下"),
        (2, r"吃饭|回家|回来吗|加班"),
        (1, r"到了|提醒您"),
        (2, r"网点|柜台|提车|取车|(做|修)好了"),
    ),
    Intent.LOAN: (
        (3, r"贷款|代款|带款|贷|借款|借钱|借贷"),
        (2, r"额度|放款|下款|秒批|到账"),
        (2, r"利息|利率|月息|低息|[一二三四五]厘"),
        (2, r"资金(周转|需求)|周转"),
        (2, r"抵押"),
        (2, r"提额|分期|大额信用卡|办理.{0,4}信用卡"),
        (1, r"征信"),
    ),
    Intent.INVESTMENT: (
        (3, r"理财|理材|投资"),
        (2, r"收益|回报|回本|分红|年化|翻倍|升值"),
        (3, r"股票|炒股|牛股|股市|原始股|上市"),
        (3, r"基金|外汇|期货|私募|证券"),
        (3, r"数字货币|区块链|比特币|虚拟币"),
        (2, r"黄金|金价|保本保息|收藏"),
        (3, r"资产配置|投资组合"),
        (2, r"老师(带|推荐)|赚钱"),
    ),
    Intent.INSURANCE: (
        (3, r"保险|保线|保现"),
        (3, r"[^风危冒探惊凶阴保]险|人寿|百万医疗|教育金"),
        (2, r"保单|投保|续保|保费|保额|保障"),
    ),
    Intent.TELECOM: (
        (3, r"移动|移东|联通|电信|营业厅"),
        (2, r"套餐|资费|月租|低消"),
        (3, r"流量|宽带|光纤|千兆|话费|合约机|携号转网|副卡|靓号|网络电视|iptv"),
        (2, r"5g|4g|号码|开通"),
        (1, r"手机"),
    ),
    Intent.SURVEY: (
        (3, r"调查|调研|问卷|回访|满意度|民意|收视率|访问"),
        (2, r"评价|打个?分|几个问题|问您几个|问下您|看法|意见"),
        (2, r"满意"),
    ),
    Intent.REAL_ESTATE: (
        (3, r"楼盘|楼潘|开盘|售楼|置业|房产|房源|二手房|新房|学区房|海景房|别墅|公寓|商铺|车位|看房"),
        (3, r"首付|买房|卖房|租房|挂牌|中介|经纪人"),
        (2, r"房子"),
        (2, r"出售|出租|托管|落户|自住"),
    ),
    Intent.SALES: (
        (2, r"促销|买一送一|特价|打折|折扣|[一二三四五六七八九]折|团购|清仓|限时|包邮|下单|厂家直销"),
        (3, r"装修公司|做装修"),
        (2, r"办卡|年卡|会员|开业|周年庆"),
        (2, r"充值.{0,6}送|送.{0,6}(券|礼)|满.{0,6}减"),
        (
            2,
            r"课程|报名|培训|装修|量房|推广|旅行社|旅游|护肤|美容|保健品|净水器|净化器|按摩椅|红酒|茶叶|家政|保洁|门锁|预订|店庆",
        ),
        (1, r"优惠|活动|免费|产品|价格|划算|实惠|体验|礼品|试用|上门"),
        # How any shop talks about a price or a first visit, whatever it sells.
        (2, r"特惠|优惠价|原价|立减|直降|秒杀|新品|上新|到店|进店|老顾客|新顾客|试听|试吃|试睡|免单|直播间"),
        (2, r"(我们|这边|我这边)(是)?(卖|销售|做批发)"),
    ),
    Intent.UNKNOWN: (),
}

EN: WeightedPatterns = {
    Intent.SCAM: (
        (1.5, r"\b(irs|fbi|police|sheriff'?s?|immigration|social security|federal|court|ceo|boss|tax office)\b"),
        (2, r"\b(warrant|arrest(ed)?|deported|jury duty|pay a fine|suspended|back taxes|crime|hacked)\b"),
        (2.5, r"\bbail\b|\bbond\b"),
        (
            3,
            r"\b(read|tell|give|confirm|send)\b.{0,30}"
            r"\b(code|password|passcode|pin|card number|security code|numbers)\b",
        ),
        (2, r"verification code|one time pass ?code|\botp\b|\bpassword\b|verify your (details|identity|account)"),
        (3, r"safe account|protected account|account we set up|move your (savings|money|funds)"),
        (3, r"transfer (your|the|all) (funds|money|savings)"),
        (2.5, r"\bwire\b|send (me )?money|western union"),
        (3, r"gift ?cards?"),
        (2, r"(processing|release|clearance|handling) fee|pay (now|today|immediately|a fine)|or (it|you) will be"),
        (2, r"\blottery\b|\bwon a\b|\bprize\b"),
        (2.5, r"\bremote(ly)?\b|install this app|tech support|\bvirus\b|connect to your computer"),
        (2, r"don'?t tell|do not tell|keep it (a )?secret|press one"),
        (1.5, r"\bi'?m in trouble\b|\burgent(ly)?\b|new number|frozen|cut off|compromised|unauthorized"),
        (1, r"\brefund\b|suspicious"),
        # Threats, links and fees before a release: no real caller needs any of these.
        (3, r"don'?t (call|contact) the police|kidnapp?ed|we have your"),
        (2, r"click (on )?the link|log ?in (and|to) let me|access your (screen|computer)"),
        (2, r"shut off.{0,20}unless|prepaid card|itunes"),
    ),
    Intent.LEGITIMATE: (
        (2, r"\b(delivery|driver|parcel|courier|food order|signature|library|reserved|reschedule)\b"),
        (1, r"\bpackage\b"),
        (2, r"\b(doctor|dentist|hospital|pharmacy|prescription|appointment|nurse|vet|clinic|test results)\b"),
        (2, r"\b(mom|dad|honey|son|daughter|sis)\b"),
        (2, r"\b(school|teacher|plumber|landlord|neighbou?r|repair|interview|hr office|from work|colleague|left my)\b"),
        (
            3,
            r"was that you|back of your card|noticed a charge|transfer was returned|"
            r"banking app|declined|number on your card",
        ),
        (2, r"on (its|the) way|no action (is )?needed"),
        (2, r"pick (it|him|her) up|picked up|pickup|come down|front gate|i'?m outside|found your"),
        (2, r"see you|home late|on the way home|dinner|still meeting|just landed|running .{0,20}late"),
    ),
    Intent.LOAN: (
        (3, r"\bloans?\b|\blow and\b|\blending\b|\bborrow|\bpayday\b|cash advance|line of credit|\bmortgage\b"),
        (3, r"refinanc|re finance|consolidation|credit check"),
        (2, r"interest rate|\bdebt\b|monthly payment"),
        (1.5, r"pre ?approved|\bapproved\b|approval"),
    ),
    Intent.INVESTMENT: (
        (3, r"\binvest|invest mint|\bstocks?\b|\bshares\b|\bcrypto|\bbitcoin\b|\btoken\b|\bforex\b|\btrading\b"),
        (
            3,
            r"portfolio|\bfunds?\b|the market|mutual fund|401 ?k|four oh one k|"
            r"wealth management|financial advisor|goes public",
        ),
        (2, r"\breturns\b|\bgold\b|\bsilver\b|dividends|retirement|double your money"),
    ),
    Intent.INSURANCE: (
        (3, r"insurance|insurants|\binsure|medicare|term life|final expense"),
        (2, r"\bpolicy\b|coverage|premium"),
        (1, r"\bquote\b|dental"),
    ),
    Intent.TELECOM: (
        (3, r"data plan|unlimited data|\binternet\b|broadband|\bfiber\b|\bwi ?fi\b|\bcarriers?\b|sim card|\bcable\b"),
        (3, r"cell service|phone service|gigabit|switch your (cell|phone|mobile)"),
        (2, r"phone plan|cell phone|mobile|five g|\b5g\b|phone bill|family plan|extra lines|unlimited calls|\btv\b"),
    ),
    Intent.SURVEY: (
        (3, r"survey|\bpoll(ing)?\b|questionnaire|research|\bstudy\b|satisfaction"),
        (2, r"opinion|feedback|rate your|questions|can i ask you"),
    ),
    Intent.REAL_ESTATE: (
        (3, r"selling your (house|home)|realtor|real estate|\bcondos?\b|down payment|buy houses|open house"),
        (2, r"\bbuyers\b|valuation|\bproperty\b|development|\bunits\b|townhomes?|listings"),
        (2, r"rental|apartments?|tenants"),
        (2, r"vacation home|for sale|renting out|on the market|new home|neighborhood"),
    ),
    Intent.SALES: (
        (2, r"promotion|free trial|free demo|membership|subscription|limited time|clearance|buy one get one"),
        (3, r"warranty"),
        (2, r"percent off|special price|solar|home security|kitchen|windows|mattress|gym|meal kit"),
        (
            2,
            r"water filter|marketing|cruise|vacations|subscription box|bargain|furniture|"
            r"\bspa\b|consultation|lawn|giving away",
        ),
        (1, r"\boffer(ing)?\b|\bdeals?\b|discount|\bspecial\b|\bfree\b|\bproducts?\b|\bsale\b"),
        # How any shop talks about a price or a first visit, whatever it sells.
        (
            2,
            r"half (off|price)|sale ends|\bon sale\b|we('re| are) selling|\bwe sell\b|"
            r"free (sample|estimate|inspection)|(new|first time) customers?|first (visit|lesson|month|order)|"
            r"no obligation|for a small fee",
        ),
    ),
    Intent.UNKNOWN: (),
}

LEXICONS: dict[Language, WeightedPatterns] = {Language.ZH_CN: ZH, Language.EN_US: EN}
