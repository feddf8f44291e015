"""`zoo chat RUN`: talk to an instruction-tuned model in the terminal, one streamed reply per turn.

RUN is a run folder written by `zoo sft` or `zoo dpo` (model.keras, tokenizer/,
chat_template.json). Every turn the whole conversation so far goes through the
chat template, the reply streams token by token and ends at the end-of-turn token.
Type /reset to forget the conversation, /quit (or end of input) to leave.

Example:
    $ zoo chat runs/sft-20260101-120000
    you> What is the first word of this sentence?  See the note.
    assistant> See
"""

import argparse
import sys


def chat_loop(
    model, tokenizer, template, lines, write, system=None, max_new_tokens=64, temperature=0.0, seed=0, prompt="you> "
):
    """Run the conversation over `lines` (an iterable of user turns), writing with `write`; the messages."""
    from zoo.dialogue.streaming import stream_text, stream_tokens

    start = [{"role": "system", "content": system}] if system else []
    messages = list(start)
    write(prompt)
    for line in lines:
        text = line.strip()
        if text in ("/quit", "/exit"):
            break
        if text == "/reset":
            messages = list(start)
            write("(conversation cleared)\n" + prompt)
            continue
        if not text:
            write(prompt)
            continue
        messages.append({"role": "user", "content": text})
        ids, _ = template.encode(tokenizer, messages, add_generation_prompt=True)
        write("assistant> ")
        reply = ""
        tokens = stream_tokens(
            model, ids, max_new_tokens, stop_id=int(template.end_of_turn_id), temperature=temperature, seed=seed
        )
        for piece in stream_text(tokenizer, tokens):
            reply += piece
            write(piece)
        messages.append({"role": "assistant", "content": reply.strip()})
        write("\n" + prompt)
    write("\n")
    return messages


def main(argv=None, prog="zoo chat"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Chat with an instruction-tuned run (zoo sft / zoo dpo) in the terminal; replies "
        "stream as they are generated. /reset clears the conversation, /quit ends it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  zoo chat runs/sft-20260101-120000\n"
        '  zoo chat runs/dpo-20260101-120000 --temperature 0.7 --system "Answer briefly."',
    )
    parser.add_argument("run", help="run folder with model.keras, tokenizer/ and chat_template.json")
    parser.add_argument("--system", default=None, help="a system message that opens the conversation")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="longest reply in tokens (default: 64)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default), > 0 samples")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    args = parser.parse_args(argv)
    if args.max_new_tokens < 1 or args.temperature < 0:
        print(f"{prog}: error: --max-new-tokens must be at least 1 and --temperature >= 0", file=sys.stderr)
        return 2
    import os

    from zoo.dialogue.chat_template import ChatTemplate
    from zoo.runs import read_run

    try:
        if not os.path.isdir(args.run):
            raise FileNotFoundError(f"{args.run} is not a run folder; give the folder `zoo sft` printed.")
        template = ChatTemplate.load(args.run)
        model, tokenizer, _ = read_run(args.run)
        if not hasattr(model, "call_with_cache"):
            raise ValueError(f"{args.run} holds a {type(model).__name__}; chat needs a causal LM")
    except (FileNotFoundError, ValueError) as error:
        print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    interactive = sys.stdin.isatty()

    def write(text):
        sys.stdout.write(text)
        sys.stdout.flush()  # stream: show each token as it arrives

    chat_loop(
        model,
        tokenizer,
        template,
        sys.stdin,
        write,
        system=args.system,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        seed=args.seed,
        prompt="you> " if interactive else "",
    )
    return 0
