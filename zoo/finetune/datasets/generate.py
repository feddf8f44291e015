"""Write zoo's small labelled QA, NLI and sentiment sets (English and Japanese) from templates.

Each example is composed from hand-written phrases, and its label follows from
the composition, so every label is right by construction:

- sentiment: an opinion sentence built on a positive or a negative phrase
  (adjective, verb or closing remark); a negated positive phrase is negative.
- NLI: a premise says who does what where; the hypothesis restates part of it
  in more general words (entailment), denies it or puts the person elsewhere or
  doing something incompatible (contradiction), or adds a fact the premise does
  not give (neutral).
- QA: a short biography paragraph; each question asks for one phrase that was
  put into it, and the answer's character offset is recorded as it is placed.

People's names are split: the dev files use names the training files never
contain. Run `python -m zoo.finetune.datasets.generate` to rewrite the files.

Example:
    >>> examples = sentiment_examples("en", random.Random(0), 4)
    >>> sorted({e["label"] for e in examples}) == ["negative", "positive"]
    True
"""

import csv
import io
import json
import random

from zoo.data.atomic_files import write_text_atomic
from zoo.finetune.datasets import FOLDER

# (name, pronoun, possessive)
NAMES_EN = [
    (n, "she", "her")
    for n in (
        "Alice",
        "Maria",
        "Emma",
        "Sofia",
        "Hannah",
        "Olivia",
        "Grace",
        "Chloe",
        "Nora",
        "Leila",
        "Priya",
        "Yuki",
        "Clara",
        "Ruth",
        "Ines",
        "Mei",
    )
] + [
    (n, "he", "his")
    for n in (
        "James",
        "Omar",
        "Lucas",
        "Daniel",
        "Henry",
        "Ravi",
        "Tom",
        "Felix",
        "Samuel",
        "Kenji",
        "Arthur",
        "Diego",
        "Ivan",
        "Noah",
        "Peter",
        "Ben",
    )
]
NAMES_JA = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
]

# ---------------------------------------------------------------- sentiment

SENT_EN = {
    "items": [
        "the pasta",
        "this phone",
        "the hotel room",
        "the film",
        "the service",
        "this laptop",
        "the concert",
        "the new album",
        "this backpack",
        "the museum tour",
        "the coffee",
        "the delivery",
        "this novel",
        "the customer support",
        "the train journey",
        "this jacket",
        "the sushi",
        "the app update",
        "the guided hike",
        "the dentist visit",
    ],
    "positive": [
        "excellent",
        "wonderful",
        "great",
        "fantastic",
        "superb",
        "delightful",
        "impressive",
        "outstanding",
        "lovely",
        "brilliant",
    ],
    "negative": [
        "terrible",
        "awful",
        "disappointing",
        "poor",
        "dreadful",
        "mediocre",
        "horrible",
        "unpleasant",
        "useless",
        "annoying",
    ],
    "adverbs": ["", "really ", "truly ", "absolutely ", "quite ", "very "],
    "pos_verbs": [
        "I loved",
        "I really enjoyed",
        "I would happily recommend",
        "We were thrilled with",
        "My family adored",
        "I am very happy with",
    ],
    "neg_verbs": [
        "I hated",
        "I regret paying for",
        "We were let down by",
        "I would never recommend",
        "My family disliked",
        "I am very unhappy with",
    ],
    "pos_close": [
        "I will definitely come back.",
        "Worth every penny.",
        "Highly recommended!",
        "I would buy it again.",
        "Five stars from me.",
        "It made my day.",
    ],
    "neg_close": [
        "Never again.",
        "A complete waste of money.",
        "Avoid it.",
        "I want a refund.",
        "One star is too many.",
        "It ruined my day.",
    ],
}

SENT_JA = {
    "items": [
        "このレストランの料理",
        "新しいスマートフォン",
        "ホテルの部屋",
        "昨日見た映画",
        "店員の対応",
        "このノートパソコン",
        "週末のコンサート",
        "新しいアルバム",
        "このリュック",
        "美術館のガイドツアー",
        "駅前のカフェのコーヒー",
        "今回の配送",
        "この小説",
        "カスタマーサポート",
        "新幹線の旅",
        "このジャケット",
        "回転寿司のネタ",
        "アプリの新しいバージョン",
        "山歩きのツアー",
        "歯医者の治療",
    ],
    "positive": [
        "素晴らしかった",
        "最高だった",
        "とても良かった",
        "期待以上だった",
        "満足のいくものだった",
        "感動的だった",
        "快適だった",
        "申し分なかった",
    ],
    "negative": [
        "ひどかった",
        "最悪だった",
        "期待外れだった",
        "残念だった",
        "不満の残るものだった",
        "がっかりするものだった",
        "不快だった",
        "お粗末だった",
    ],
    "negated": [
        "あまり良くなかった",
        "全然満足できなかった",
        "期待したほどではなかった",
        "少しも楽しめなかった",
        "決して快適ではなかった",
    ],
    "adverbs": ["", "本当に", "正直なところ", "思っていた以上に", "全体的に"],
    "pos_close": [
        "また利用したいです。",
        "友人にも勧めたいと思います。",
        "買ってよかったです。",
        "値段以上の価値がありました。",
        "星五つです。",
        "次回も楽しみにしています。",
    ],
    "neg_close": [
        "もう二度と利用しません。",
        "お金の無駄でした。",
        "返金してほしいです。",
        "人にはおすすめできません。",
        "星一つでも多すぎます。",
        "本当に後悔しています。",
    ],
}


def _sentiment_en(rng, polarity):
    s = SENT_EN
    item = rng.choice(s["items"])
    Item = item[0].upper() + item[1:]
    adjective = rng.choice(s[polarity])
    form = rng.randrange(5)
    if form == 0:
        return f"{Item} was {rng.choice(s['adverbs'])}{adjective}."
    if form == 1:
        verb = rng.choice(s["pos_verbs" if polarity == "positive" else "neg_verbs"])
        return f"{verb} {item}."
    if form == 2:
        close = rng.choice(s["pos_close" if polarity == "positive" else "neg_close"])
        return f"{Item} was {adjective}. {close}"
    if form == 3 and polarity == "negative":
        # A negated positive word is a complaint.
        ending = rng.choice(["", " at all"])
        return f"{Item} was not {rng.choice(s['positive'])}{ending}."
    close = rng.choice(s["pos_close" if polarity == "positive" else "neg_close"])
    return f"Honestly, {item} was {rng.choice(s['adverbs'])}{adjective}, and {close[0].lower()}{close[1:]}"


def _sentiment_ja(rng, polarity):
    s = SENT_JA
    item = rng.choice(s["items"])
    form = rng.randrange(4)
    if form == 3 and polarity == "negative":
        return f"{item}は{rng.choice(s['negated'])}。"
    predicate = rng.choice(s[polarity])
    adverb = rng.choice(s["adverbs"])
    if adverb.endswith("ところ") or adverb == "全体的に":
        adverb += "、"
    if form == 0:
        return f"{item}は{adverb}{predicate}。"
    close = rng.choice(s["pos_close" if polarity == "positive" else "neg_close"])
    if form == 1:
        return f"{item}は{predicate}。{close}"
    return f"{adverb}{item}は{predicate}です。{close}".replace("だったです", "でした")


def sentiment_examples(language, rng, count):
    """`count` distinct {"text", "label"} opinions, half positive and half negative."""
    make = _sentiment_en if language == "en" else _sentiment_ja
    seen, out = set(), []
    while len(out) < count:
        polarity = ("positive", "negative")[len(out) % 2]
        text = make(rng, polarity)
        if text not in seen:
            seen.add(text)
            out.append({"text": text, "label": polarity})
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------- NLI

# (doing, a more general wording it entails, something it cannot be done together with)
ACTS_EN = [
    ("playing the guitar", "playing an instrument", "sleeping"),
    ("reading a novel", "reading a book", "swimming"),
    ("cooking pasta", "preparing food", "sleeping"),
    ("painting a portrait", "making art", "swimming"),
    ("riding a bicycle", "riding something", "sitting still"),
    ("eating an apple", "eating fruit", "sleeping"),
    ("writing a letter", "writing something", "swimming"),
    ("feeding a cat", "feeding an animal", "sleeping"),
    ("playing the piano", "playing an instrument", "swimming"),
    ("drinking green tea", "drinking something", "sleeping"),
    ("repairing a chair", "fixing furniture", "sleeping"),
    ("washing a car", "cleaning a vehicle", "sleeping"),
]
PLACES_EN = [
    "in the park",
    "at the library",
    "in the kitchen",
    "on the beach",
    "at the office",
    "in the garden",
    "at the station",
    "in a cafe",
]
EXTRAS_EN = [
    "with a friend",
    "with {poss} brother",
    "with {poss} sister",
    "for the first time",
    "to relax after work",
    "because it is a holiday",
    "while it is raining",
    "for a school project",
]
JOBS_EN = ["a teacher", "a nurse", "an engineer", "a lawyer", "a baker", "a pilot", "a student", "a doctor"]
TIMES_EN = ["This morning", "On Sunday", "Late in the evening", "Right now", "After lunch", "Today"]

ACTS_JA = [
    ("ギターを弾いて", "楽器を演奏して", "眠って", "ギターを弾いていません"),
    ("小説を読んで", "本を読んで", "泳いで", "小説を読んでいません"),
    ("パスタを作って", "料理をして", "眠って", "パスタを作っていません"),
    ("肖像画を描いて", "絵を描いて", "泳いで", "肖像画を描いていません"),
    ("自転車に乗って", "乗り物に乗って", "じっと座って", "自転車に乗っていません"),
    ("りんごを食べて", "果物を食べて", "眠って", "りんごを食べていません"),
    ("手紙を書いて", "何かを書いて", "泳いで", "手紙を書いていません"),
    ("猫に餌をあげて", "動物の世話をして", "眠って", "猫に餌をあげていません"),
    ("ピアノを弾いて", "楽器を演奏して", "泳いで", "ピアノを弾いていません"),
    ("緑茶を飲んで", "何かを飲んで", "眠って", "緑茶を飲んでいません"),
    ("椅子を修理して", "家具を直して", "眠って", "椅子を修理していません"),
    ("車を洗って", "乗り物を掃除して", "眠って", "車を洗っていません"),
]
PLACES_JA = ["公園", "図書館", "台所", "海辺", "事務所", "庭", "駅", "喫茶店"]
EXTRAS_JA = [
    "友達と一緒に",
    "兄と一緒に",
    "妹と一緒に",
    "初めて",
    "仕事の後の息抜きに",
    "休日なので",
    "雨の日に",
    "学校の課題のために",
]
JOBS_JA = ["教師", "看護師", "技術者", "弁護士", "パン職人", "パイロット", "学生", "医者"]
TIMES_JA = ["今朝", "日曜日に", "夜遅くに", "今", "昼食の後", "今日"]


def _nli_en(rng, label, names):
    name, _, poss = rng.choice(names)
    act, general, incompatible = rng.choice(ACTS_EN)
    place = rng.choice(PLACES_EN)
    job = rng.choice(JOBS_EN) if rng.random() < 0.3 else None
    opening = rng.choice(TIMES_EN)
    who = f"{name}, {job}," if job else name
    premise = rng.choice([f"{who} is {act} {place}.", f"{opening}, {who} is {act} {place}."])
    if label == "entailment":
        hypothesis = rng.choice(
            [
                f"{name} is {general}.",
                f"Someone is {act} {place}.",
                f"{name} is {place}.",
                f"A person is {general} {place}.",
                f"{name} is {act}.",
            ]
        )
    elif label == "contradiction":
        other = rng.choice([p for p in PLACES_EN if p != place])
        hypothesis = rng.choice(
            [
                f"{name} is not {act}.",
                f"{name} is {incompatible} {place}.",
                f"Nobody is {act} {place}.",
                f"{name} is {other}, not {place}.",
                f"{name} is {incompatible} and is not {general}.",
            ]
        )
    else:
        extra = rng.choice(EXTRAS_EN).format(poss=poss)
        options = [f"{name} is {act} {extra}.", f"{name} is {act} {place} {extra}."]
        if not job:
            # Only when the premise names no job, or two jobs would be a contradiction question.
            options.append(f"{name} is {rng.choice(JOBS_EN)}.")
        hypothesis = rng.choice(options)
    return premise, hypothesis


def _nli_ja(rng, label, names):
    name = rng.choice(names)
    act, general, incompatible, negated = rng.choice(ACTS_JA)
    place = rng.choice(PLACES_JA)
    job = rng.choice(JOBS_JA) if rng.random() < 0.3 else None
    who = f"{job}の{name}さん" if job else f"{name}さん"
    premise = rng.choice([f"{who}は{place}で{act}います。", f"{rng.choice(TIMES_JA)}、{who}は{place}で{act}います。"])
    if label == "entailment":
        hypothesis = rng.choice(
            [
                f"{name}さんは{general}います。",
                f"誰かが{place}で{act}います。",
                f"{name}さんは{place}にいます。",
                f"{name}さんは{place}で{general}います。",
            ]
        )
    elif label == "contradiction":
        other = rng.choice([p for p in PLACES_JA if p != place])
        hypothesis = rng.choice(
            [
                f"{name}さんは{negated}。",
                f"{name}さんは{place}で{incompatible}います。",
                f"{place}では誰も{act}いません。",
                f"{name}さんは{place}ではなく{other}にいます。",
            ]
        )
    else:
        extra = rng.choice(EXTRAS_JA)
        options = [f"{name}さんは{extra}{act}います。", f"{name}さんは{place}で{extra}{act}います。"]
        if not job:
            options.append(f"{name}さんは{rng.choice(JOBS_JA)}です。")
        hypothesis = rng.choice(options)
    return premise, hypothesis


def nli_examples(language, rng, count, names):
    """`count` distinct {"premise", "hypothesis", "label"} pairs, the three labels in equal shares."""
    make = _nli_en if language == "en" else _nli_ja
    labels = ("entailment", "neutral", "contradiction")
    seen, out = set(), []
    while len(out) < count:
        label = labels[len(out) % 3]
        premise, hypothesis = make(rng, label, names)
        if (premise, hypothesis) not in seen:
            seen.add((premise, hypothesis))
            out.append({"premise": premise, "hypothesis": hypothesis, "label": label})
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------- QA

QA_EN = {
    "cities": [
        "Lisbon",
        "Osaka",
        "Nairobi",
        "Toronto",
        "Krakow",
        "Lima",
        "Melbourne",
        "Seoul",
        "Dublin",
        "Cairo",
        "Oslo",
        "Bristol",
        "Kyoto",
        "Porto",
        "Hanoi",
        "Vancouver",
    ],
    "subjects": [
        "chemistry",
        "history",
        "mathematics",
        "architecture",
        "music",
        "economics",
        "biology",
        "philosophy",
        "computer science",
        "law",
    ],
    "jobs": [
        "nurse",
        "bus driver",
        "software engineer",
        "journalist",
        "pastry chef",
        "librarian",
        "firefighter",
        "photographer",
        "pharmacist",
        "carpenter",
    ],
    "pets": ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster"],
    "pet_names": ["Biscuit", "Pepper", "Mochi", "Rex", "Luna", "Captain", "Pumpkin", "Ziggy", "Olive", "Bruno"],
    "hobbies": [
        "baking bread",
        "hiking in the mountains",
        "playing chess",
        "painting landscapes",
        "watching old films",
        "growing vegetables",
        "swimming in the sea",
        "learning languages",
        "repairing old radios",
        "bird watching",
    ],
}

QA_JA = {
    "cities": [
        "札幌",
        "仙台",
        "金沢",
        "名古屋",
        "神戸",
        "広島",
        "高松",
        "福岡",
        "那覇",
        "長野",
        "静岡",
        "松江",
        "熊本",
        "青森",
        "奈良",
        "横浜",
    ],
    "subjects": ["化学", "歴史学", "数学", "建築学", "音楽", "経済学", "生物学", "哲学", "情報科学", "法学"],
    "jobs": [
        "看護師",
        "バスの運転手",
        "ソフトウェア技術者",
        "新聞記者",
        "菓子職人",
        "司書",
        "消防士",
        "写真家",
        "薬剤師",
        "大工",
    ],
    "pets": ["犬", "猫", "インコ", "うさぎ", "亀", "ハムスター"],
    "pet_names": ["ポチ", "タマ", "モチ", "ハナ", "ソラ", "コタロウ", "きなこ", "マロン", "チビ", "レオ"],
    "hobbies": [
        "パン作り",
        "山歩き",
        "将棋",
        "風景画",
        "古い映画の鑑賞",
        "家庭菜園",
        "海での水泳",
        "外国語の勉強",
        "古いラジオの修理",
        "野鳥観察",
    ],
}


class _Paragraph:
    """Builds a context piece by piece and records where each answer lands."""

    def __init__(self):
        self.text = ""
        self.answers = {}

    def add(self, *parts):
        # parts: plain strings, or (key, answer) tuples whose offset is recorded.
        for part in parts:
            if isinstance(part, tuple):
                key, answer = part
                self.answers[key] = {"text": answer, "answer_start": len(self.text)}
                self.text += answer
            else:
                self.text += part


def _qa_en(rng, person):
    name, pron, poss = person
    Pron, Poss = pron.capitalize(), poss.capitalize()
    q = QA_EN
    born, home = rng.sample(q["cities"], 2)
    year = str(rng.randrange(1950, 2004))
    subject, job, pet, pet_name, hobby = (
        rng.choice(q[k]) for k in ("subjects", "jobs", "pets", "pet_names", "hobbies")
    )
    article = "an" if job[0] in "aeiou" else "a"
    p = _Paragraph()
    if rng.random() < 0.5:
        p.add(f"{name} was born in ", ("born", born), " in ", ("year", year), ". ")
    else:
        p.add(f"{name} was born in ", ("year", year), " in the city of ", ("born", born), ". ")
    if rng.random() < 0.5:
        p.add("After studying ", ("subject", subject), f" at university, {pron} became {article} ", ("job", job), ". ")
    else:
        p.add(f"{Pron} studied ", ("subject", subject), f" and now works as {article} ", ("job", job), ". ")
    if rng.random() < 0.5:
        p.add(f"{Pron} lives in ", ("home", home), f" with {poss} {pet}, ", ("pet_name", pet_name), ". ")
    else:
        p.add(f"Today {pron} lives in ", ("home", home), f". {Poss} {pet} is called ", ("pet_name", pet_name), ". ")
    p.add(f"In {poss} free time, {name} enjoys ", ("hobby", hobby), ".")
    questions = {
        "born": [f"Where was {name} born?", f"In which city was {name} born?"],
        "year": [f"In which year was {name} born?", f"When was {name} born?"],
        "subject": [f"What did {name} study?", f"Which subject did {name} study?"],
        "job": [f"What is {name}'s job?", f"What does {name} do for a living?"],
        "home": [f"Where does {name} live?", f"In which city does {name} live today?"],
        "pet_name": [f"What is the name of {name}'s {pet}?", f"What is {name}'s {pet} called?"],
        "hobby": [f"What does {name} enjoy in {poss} free time?", f"What is {name}'s hobby?"],
    }
    return p, questions


def _qa_ja(rng, name):
    q = QA_JA
    born, home = rng.sample(q["cities"], 2)
    year = f"{rng.randrange(1950, 2004)}年"
    subject, job, pet, pet_name, hobby = (
        rng.choice(q[k]) for k in ("subjects", "jobs", "pets", "pet_names", "hobbies")
    )
    p = _Paragraph()
    if rng.random() < 0.5:
        p.add(f"{name}さんは", ("year", year), "に", ("born", born), "で生まれました。")
    else:
        p.add(f"{name}さんは", ("born", born), "の出身で、", ("year", year), "生まれです。")
    if rng.random() < 0.5:
        p.add("大学で", ("subject", subject), "を学んだ後、", ("job", job), "になりました。")
    else:
        p.add("大学では", ("subject", subject), "を専攻し、今は", ("job", job), "として働いています。")
    if rng.random() < 0.5:
        p.add("現在は", ("home", home), f"で{pet}の", ("pet_name", pet_name), "と一緒に暮らしています。")
    else:
        p.add("今は", ("home", home), f"に住んでいて、飼っている{pet}の名前は", ("pet_name", pet_name), "です。")
    p.add("休日には", ("hobby", hobby), "を楽しんでいます。")
    questions = {
        "born": [f"{name}さんはどこで生まれましたか。", f"{name}さんの出身地はどこですか。"],
        "year": [f"{name}さんは何年に生まれましたか。", f"{name}さんが生まれたのは何年ですか。"],
        "subject": [f"{name}さんは大学で何を学びましたか。", f"{name}さんの専攻は何でしたか。"],
        "job": [f"{name}さんの職業は何ですか。", f"{name}さんはどんな仕事をしていますか。"],
        "home": [f"{name}さんは今どこに住んでいますか。", f"{name}さんが現在暮らしている町はどこですか。"],
        "pet_name": [f"{name}さんの{pet}の名前は何ですか。", f"{name}さんが飼っている{pet}は何という名前ですか。"],
        "hobby": [f"{name}さんは休日に何を楽しんでいますか。", f"{name}さんの趣味は何ですか。"],
    }
    return p, questions


def qa_dataset(language, rng, paragraphs, names, questions_per_paragraph=3, prefix="q"):
    """A SQuAD v1.1 dict of `paragraphs` biographies with `questions_per_paragraph` questions each."""
    articles = []
    count = 0
    for index in range(paragraphs):
        person = names[index % len(names)] if index < len(names) else rng.choice(names)
        paragraph, questions = (_qa_en if language == "en" else _qa_ja)(rng, person)
        qas = []
        for key in rng.sample(sorted(questions), questions_per_paragraph):
            answer = paragraph.answers[key]
            assert paragraph.text[answer["answer_start"] :][: len(answer["text"])] == answer["text"]
            count += 1
            qas.append({"id": f"{prefix}{count:04d}", "question": rng.choice(questions[key]), "answers": [answer]})
        title = person[0] if language == "en" else f"{person}さん"
        articles.append({"title": title, "paragraphs": [{"context": paragraph.text, "qas": qas}]})
    return {"version": "1.1", "data": articles}


# ---------------------------------------------------------------- writing


def _csv_text(rows, fields, delimiter=","):
    buffer = io.StringIO()
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "escapechar": None} if delimiter == "\t" else {}
    writer = csv.writer(buffer, lineterminator="\n", **options)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([row[f] for f in fields])
    return buffer.getvalue()


def _jsonl_text(rows):
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _split_names(names):
    cut = len(names) * 3 // 4
    return names[:cut], names[cut:]


def write_all(folder=FOLDER, seed=0):
    """Write every shipped file into `folder`; returns {file name: number of examples}."""
    sizes = {}
    for language, names in (("en", NAMES_EN), ("ja", NAMES_JA)):
        train_names, dev_names = _split_names(names)
        rng = random.Random(f"{seed}-{language}")
        # Sentiment: the dev sentences must not occur in train.
        pool = sentiment_examples(language, rng, 400)
        by_label = [[e for e in pool if e["label"] == label] for label in ("positive", "negative")]
        train = by_label[0][:150] + by_label[1][:150]
        dev = by_label[0][150:] + by_label[1][150:]
        rng.shuffle(train)
        rng.shuffle(dev)
        if language == "en":
            write_text_atomic(folder / "sentiment_en_train.csv", _csv_text(train, ["text", "label"]))
            write_text_atomic(folder / "sentiment_en_dev.csv", _csv_text(dev, ["text", "label"]))
        else:
            write_text_atomic(folder / "sentiment_ja_train.jsonl", _jsonl_text(train))
            write_text_atomic(folder / "sentiment_ja_dev.jsonl", _jsonl_text(dev))
        sizes[f"sentiment_{language}"] = (len(train), len(dev))
        # NLI: dev premises mention only dev names.
        train = nli_examples(language, rng, 360, train_names)
        dev = nli_examples(language, rng, 120, dev_names)
        if language == "en":
            rows = [
                {"index": i, "sentence1": r["premise"], "sentence2": r["hypothesis"], "label": r["label"]}
                for i, r in enumerate(train)
            ]
            write_text_atomic(
                folder / "nli_en_train.tsv", _csv_text(rows, ["index", "sentence1", "sentence2", "label"], "\t")
            )
            rows = [
                {"index": i, "sentence1": r["premise"], "sentence2": r["hypothesis"], "label": r["label"]}
                for i, r in enumerate(dev)
            ]
            write_text_atomic(
                folder / "nli_en_dev.tsv", _csv_text(rows, ["index", "sentence1", "sentence2", "label"], "\t")
            )
        else:
            for split, rows in (("train", train), ("dev", dev)):
                jnli = [
                    {
                        "sentence_pair_id": str(i),
                        "sentence1": r["premise"],
                        "sentence2": r["hypothesis"],
                        "label": r["label"],
                    }
                    for i, r in enumerate(rows)
                ]
                write_text_atomic(folder / f"nli_ja_{split}.jsonl", _jsonl_text(jnli))
        sizes[f"nli_{language}"] = (len(train), len(dev))
        # QA: biographies of train names / dev names.
        train = qa_dataset(language, rng, 110, train_names, questions_per_paragraph=7, prefix=f"{language}-train-")
        dev = qa_dataset(language, rng, 35, dev_names, prefix=f"{language}-dev-")
        for split, data in (("train", train), ("dev", dev)):
            write_text_atomic(
                folder / f"qa_{language}_{split}.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            )
        sizes[f"qa_{language}"] = tuple(
            sum(len(p["qas"]) for a in d["data"] for p in a["paragraphs"]) for d in (train, dev)
        )
    return sizes


if __name__ == "__main__":
    for name, (train, dev) in write_all().items():
        print(f"{name}: {train} train, {dev} dev")
