console.log("sentcopy");
