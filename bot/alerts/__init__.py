"""Alert rules and the engines that evaluate them: liquidations, funding, console."""
